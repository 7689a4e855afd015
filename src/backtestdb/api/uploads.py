"""Streaming multipart/form-data: each file goes to disk as it arrives, never whole in memory.

FastAPI's `UploadFile` spools every file before the route runs, with no size limit. Here
the body is fed chunk by chunk to python-multipart's parser; a file part that passes the
limit stops the upload with 413 at once, and a body still arriving after
UPLOAD_TIMEOUT_SECONDS with 408 (a client trickling one byte a second would otherwise hold
a connection and a temporary file for as long as it likes). The temporary files live only
inside `receive_form`'s block.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request

from backtestdb.batches.archives import folder_too_large
from backtestdb.errors import (
    BacktestdbError,
    FileTooLarge,
    InvalidRequest,
    UnsupportedMediaType,
    UploadTimeout,
)

#: Room for part headers and the text fields beside the files.
BODY_SLACK = 1024 * 1024
#: Room for the headers of each part of a repeated field (its path is in the filename).
PART_SLACK = 2048
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class UploadLimits:
    file_fields: frozenset[str]
    max_file_bytes: int
    max_files: int = 3
    max_field_bytes: int = 64 * 1024
    max_parts: int = 32
    #: Seconds the whole body may take; None: the app's UPLOAD_TIMEOUT_SECONDS.
    timeout_seconds: float | None = None
    #: File fields a form may repeat (a folder's files): each file within max_file_bytes,
    #: at most `max_repeated_files` of them and `max_repeated_bytes` together.
    repeated_fields: frozenset[str] = frozenset()
    max_repeated_files: int = 0
    max_repeated_bytes: int = 0

    @property
    def max_body_bytes(self) -> int:
        repeated = self.max_repeated_bytes + self.max_repeated_files * PART_SLACK
        return max(self.max_files * self.max_file_bytes, repeated) + BODY_SLACK


@dataclass(frozen=True, slots=True)
class ReceivedFile:
    field: str
    filename: str
    path: Path
    size: int


@dataclass(slots=True)
class ReceivedForm:
    files: dict[str, ReceivedFile] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    #: The files of the repeated fields, in order; their `filename` is as sent (a path).
    repeated: list[ReceivedFile] = field(default_factory=list)


@asynccontextmanager
async def receive_form(
    request: Request, limits: UploadLimits, tmp_root: Path
) -> AsyncIterator[ReceivedForm]:
    """The request's form, its files in a temporary folder removed when the block ends."""
    boundary = multipart_boundary(request.headers)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_body_bytes:
        raise FileTooLarge()
    timeout = limits.timeout_seconds or request.app.state.settings.upload_timeout_seconds
    tmp_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=tmp_root, prefix="upload-") as folder:
        receiver = Receiver(boundary, limits, Path(folder))
        try:
            await feed(request, receiver, limits, timeout)
        finally:
            receiver.close()
        yield receiver.form


def multipart_boundary(headers: Headers) -> bytes:
    media_type, options = parse_options_header(headers.get("content-type"))
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType("Send the files as multipart/form-data")
    boundary = options.get(b"boundary", b"")
    if not 0 < len(boundary) <= 200:
        raise BacktestdbError("multipart/form-data needs a boundary of 1 to 200 characters")
    return boundary


async def feed(request: Request, receiver: Receiver, limits: UploadLimits, timeout: float) -> None:
    received = 0
    stream = request.stream()
    try:
        async for chunk in within(stream, timeout):
            received += len(chunk)
            if received > limits.max_body_bytes:
                raise FileTooLarge()
            # Parsing writes to disk: off the event loop.
            await run_in_threadpool(receiver.write, chunk)
    except ClientDisconnect:
        raise BacktestdbError("The client disconnected before the upload ended") from None
    except UploadTimeout:
        raise  # never wait for the rest of a body that is already too slow
    except ParseError as error:
        refused: BacktestdbError = BacktestdbError(f"Malformed multipart body: {error}")
    except BacktestdbError as error:
        refused = error
    else:
        if not receiver.ended:
            raise BacktestdbError("Malformed multipart body: it ends before its closing boundary")
        return
    # Read (and drop) the rest, up to the body limit: a client that sends its whole body
    # before reading the answer would otherwise see a reset connection, not the answer.
    budget = limits.max_body_bytes - received
    async for chunk in stream:
        budget -= len(chunk)
        if budget < 0:
            break
    raise refused


async def within(stream: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """The stream's chunks while the deadline holds; UploadTimeout once it passes. The rest
    of the body is not read: the server closes the connection after the 408."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    iterator = aiter(stream)
    while True:
        try:
            chunk = await asyncio.wait_for(anext(iterator), max(deadline - loop.time(), 0))
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadTimeout(f"Upload too slow: the body did not arrive within "
                                f"{seconds:g} s") from None  # fmt: skip
        yield chunk


def safe_filename(raw: bytes | None) -> str:
    """A display name only (storage never uses it as a path): no folders, no control chars."""
    if raw is None:
        return ""
    name = raw.decode("utf-8", errors="replace").replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_NAME.sub("", name)[:255]


class Receiver:
    """python-multipart callbacks; runs in worker threads, one chunk at a time."""

    def __init__(self, boundary: bytes, limits: UploadLimits, folder: Path) -> None:
        self.limits = limits
        self.folder = folder
        self.form = ReceivedForm()
        self.ended = False
        self._parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._filename: bytes | None = None
        self._size = 0
        self._repeated_bytes = 0
        self._file: IO[bytes] | None = None
        self._path: Path | None = None
        self._text = bytearray()
        callbacks: Any = {
            "on_part_begin": self.on_part_begin,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_end": self.on_end,
        }
        self.parser = MultipartParser(boundary, callbacks)

    def write(self, chunk: bytes) -> None:
        self.parser.write(chunk)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > self.limits.max_parts:
            raise InvalidRequest(f"Too many form parts (at most {self.limits.max_parts})")
        self._disposition = b""
        self._filename = None
        self._size = 0
        self._path = None
        self._text.clear()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise BacktestdbError("Malformed multipart body: a part has no field name")
        self._name = options[b"name"].decode("utf-8", errors="replace")
        self._filename = options.get(b"filename")
        if self._name in self.limits.repeated_fields:
            if len(self.form.repeated) >= self.limits.max_repeated_files:
                raise InvalidRequest(
                    f"Too many {self._name} parts (at most {self.limits.max_repeated_files})"
                )
            self._path = self.folder / f"r{len(self.form.repeated)}"
            self._file = self._path.open("wb")
        elif self._name in self.limits.file_fields:
            # A file field counts as a file even without a filename (curl -F 'f=<path').
            if self._name in self.form.files:
                raise InvalidRequest(f"{self._name} was sent twice")
            self._path = self.folder / str(len(self.form.files))
            self._file = self._path.open("wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._file is not None:
            if self._size > self.limits.max_file_bytes:
                raise FileTooLarge()
            if self._name in self.limits.repeated_fields:
                self._repeated_bytes += end - start
                if self._repeated_bytes > self.limits.max_repeated_bytes:
                    raise folder_too_large(self.limits.max_repeated_bytes)
            self._file.write(memoryview(data)[start:end])
        elif self._filename is not None:
            return  # a file under an unknown field: ignored, like any unknown field
        elif self._size > self.limits.max_field_bytes:
            raise InvalidRequest(
                f"Form field {self._name!r} is longer than {self.limits.max_field_bytes} bytes"
            )
        else:
            self._text += data[start:end]

    def on_part_end(self) -> None:
        if self._file is not None and self._path is not None:
            self.close()
            # An empty part without a filename is a form's file input left empty.
            if self._name in self.limits.repeated_fields and (self._size or self._filename):
                raw = (self._filename or b"").decode("utf-8", errors="replace")
                self.form.repeated.append(ReceivedFile(self._name, raw, self._path, self._size))
            elif self._size or self._filename:
                name = safe_filename(self._filename) or self._name
                self.form.files[self._name] = ReceivedFile(self._name, name, self._path, self._size)
        elif self._filename is None:
            self.form.fields[self._name] = self._text.decode("utf-8", errors="replace")

    def on_end(self) -> None:
        self.ended = True
