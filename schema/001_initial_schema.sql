BEGIN;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

-- Running upgrade  -> 0001

CREATE TABLE backtests (
    id UUID NOT NULL, 
    name VARCHAR(255) NOT NULL, 
    description TEXT, 
    platform VARCHAR(32) DEFAULT 'ctrader' NOT NULL, 
    symbol VARCHAR(64), 
    symbols JSONB NOT NULL, 
    period VARCHAR(32), 
    testing_start TIMESTAMP WITH TIME ZONE, 
    testing_end TIMESTAMP WITH TIME ZONE, 
    initial_balance NUMERIC(18, 2) NOT NULL, 
    ending_balance NUMERIC(18, 2), 
    ending_equity NUMERIC(18, 2), 
    net_profit NUMERIC(18, 2) NOT NULL, 
    gross_profit NUMERIC(18, 2) NOT NULL, 
    gross_loss NUMERIC(18, 2) NOT NULL, 
    total_trades INTEGER NOT NULL, 
    winning_trades INTEGER NOT NULL, 
    losing_trades INTEGER NOT NULL, 
    win_rate NUMERIC(7, 2) NOT NULL, 
    profit_factor NUMERIC(14, 4), 
    max_balance_drawdown NUMERIC(18, 2) NOT NULL, 
    max_balance_drawdown_percent NUMERIC(7, 2) NOT NULL, 
    max_equity_drawdown NUMERIC(18, 2), 
    max_equity_drawdown_percent NUMERIC(7, 2), 
    commissions NUMERIC(18, 2) NOT NULL, 
    swaps NUMERIC(18, 2) NOT NULL, 
    reported_statistics JSONB NOT NULL, 
    source_files JSONB NOT NULL, 
    content_hash VARCHAR(64), 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
    CONSTRAINT pk_backtests PRIMARY KEY (id), 
    CONSTRAINT uq_backtests_content_hash UNIQUE (content_hash)
);

CREATE INDEX ix_backtests_created_at ON backtests (created_at);

CREATE INDEX ix_backtests_net_profit ON backtests (net_profit);

CREATE TABLE daily_summary (
    backtest_id UUID NOT NULL, 
    trade_date DATE NOT NULL, 
    total_trades INTEGER NOT NULL, 
    winning_trades INTEGER NOT NULL, 
    losing_trades INTEGER NOT NULL, 
    gross_profit NUMERIC(18, 2) NOT NULL, 
    gross_loss NUMERIC(18, 2) NOT NULL, 
    net_profit NUMERIC(18, 2) NOT NULL, 
    win_rate NUMERIC(7, 2) NOT NULL, 
    end_balance NUMERIC(18, 2) NOT NULL, 
    CONSTRAINT pk_daily_summary PRIMARY KEY (backtest_id, trade_date), 
    CONSTRAINT fk_daily_summary_backtest_id_backtests FOREIGN KEY(backtest_id) REFERENCES backtests (id) ON DELETE CASCADE
);

CREATE TABLE ingestion_jobs (
    id UUID NOT NULL, 
    job_type VARCHAR(32) NOT NULL, 
    status VARCHAR(16) NOT NULL, 
    error_message TEXT, 
    errors JSONB NOT NULL, 
    error_count INTEGER NOT NULL, 
    warnings JSONB NOT NULL, 
    source_files JSONB NOT NULL, 
    options JSONB NOT NULL, 
    trades_ingested INTEGER NOT NULL, 
    backtest_id UUID, 
    started_at TIMESTAMP WITH TIME ZONE, 
    finished_at TIMESTAMP WITH TIME ZONE, 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP NOT NULL, 
    CONSTRAINT pk_ingestion_jobs PRIMARY KEY (id), 
    CONSTRAINT ck_ingestion_jobs_status CHECK (status IN ('pending', 'running', 'completed', 'failed')), 
    CONSTRAINT fk_ingestion_jobs_backtest_id_backtests FOREIGN KEY(backtest_id) REFERENCES backtests (id) ON DELETE SET NULL
);

CREATE INDEX ix_ingestion_jobs_status_created_at ON ingestion_jobs (status, created_at);

CREATE TABLE parameters (
    backtest_id UUID NOT NULL, 
    name VARCHAR(255) NOT NULL, 
    value TEXT, 
    value_type VARCHAR(16) NOT NULL, 
    group_name VARCHAR(255), 
    display_name VARCHAR(255), 
    CONSTRAINT pk_parameters PRIMARY KEY (backtest_id, name), 
    CONSTRAINT fk_parameters_backtest_id_backtests FOREIGN KEY(backtest_id) REFERENCES backtests (id) ON DELETE CASCADE
);

CREATE INDEX ix_parameters_name_value ON parameters (name, value);

CREATE TABLE trades (
    backtest_id UUID NOT NULL, 
    trade_number INTEGER NOT NULL, 
    deal_id VARCHAR(64), 
    symbol VARCHAR(64) NOT NULL, 
    direction VARCHAR(4) NOT NULL, 
    open_time TIMESTAMP WITH TIME ZONE NOT NULL, 
    close_time TIMESTAMP WITH TIME ZONE NOT NULL, 
    entry_price NUMERIC(20, 8) NOT NULL, 
    exit_price NUMERIC(20, 8) NOT NULL, 
    quantity NUMERIC(20, 4), 
    volume NUMERIC(20, 4), 
    commission NUMERIC(18, 2) NOT NULL, 
    swap NUMERIC(18, 2) NOT NULL, 
    pips NUMERIC(20, 4), 
    gross_profit NUMERIC(18, 2), 
    profit NUMERIC(18, 2) NOT NULL, 
    balance_after NUMERIC(18, 2) NOT NULL, 
    drawdown NUMERIC(18, 2) NOT NULL, 
    drawdown_percent NUMERIC(9, 4) NOT NULL, 
    label VARCHAR(255), 
    comment TEXT, 
    extra JSONB, 
    CONSTRAINT pk_trades PRIMARY KEY (backtest_id, trade_number), 
    CONSTRAINT ck_trades_direction CHECK (direction IN ('buy', 'sell')), 
    CONSTRAINT fk_trades_backtest_id_backtests FOREIGN KEY(backtest_id) REFERENCES backtests (id) ON DELETE CASCADE
);

CREATE INDEX ix_trades_backtest_id_open_time ON trades (backtest_id, open_time);

CREATE INDEX ix_trades_backtest_id_symbol ON trades (backtest_id, symbol);

INSERT INTO alembic_version (version_num) VALUES ('0001') RETURNING alembic_version.version_num;

-- Running upgrade 0001 -> 0002

ALTER TABLE backtests ADD COLUMN expectancy NUMERIC(18, 2);

ALTER TABLE backtests ADD COLUMN average_win NUMERIC(18, 2);

ALTER TABLE backtests ADD COLUMN average_loss NUMERIC(18, 2);

ALTER TABLE backtests ADD COLUMN largest_win NUMERIC(18, 2);

ALTER TABLE backtests ADD COLUMN largest_loss NUMERIC(18, 2);

ALTER TABLE backtests ADD COLUMN payoff_ratio NUMERIC(14, 4);

ALTER TABLE backtests ADD COLUMN max_consecutive_wins INTEGER;

ALTER TABLE backtests ADD COLUMN max_consecutive_losses INTEGER;

ALTER TABLE backtests ADD COLUMN recovery_factor NUMERIC(14, 4);

ALTER TABLE backtests ADD COLUMN sharpe_ratio NUMERIC(14, 4);

ALTER TABLE backtests ADD COLUMN sortino_ratio NUMERIC(14, 4);

ALTER TABLE backtests ADD COLUMN calmar_ratio NUMERIC(14, 4);

ALTER TABLE backtests ADD COLUMN cagr_percent NUMERIC(18, 4);

ALTER TABLE backtests ADD COLUMN metrics JSONB;

ALTER TABLE backtests ADD COLUMN reconciliation JSONB;

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

-- Running upgrade 0002 -> 0003

ALTER TABLE ingestion_jobs ADD COLUMN lease_expires_at TIMESTAMP WITH TIME ZONE;

ALTER TABLE ingestion_jobs ADD COLUMN attempts INTEGER DEFAULT '0' NOT NULL;

ALTER TABLE ingestion_jobs ADD COLUMN worker_id VARCHAR(255);

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

-- Running upgrade 0003 -> 0004

DROP INDEX ix_trades_backtest_id_symbol;

CREATE INDEX ix_trades_backtest_id_symbol ON trades (backtest_id, symbol, trade_number);

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

-- Running upgrade 0004 -> 0005

ALTER TABLE trades ALTER COLUMN open_time DROP NOT NULL;

ALTER TABLE trades ALTER COLUMN entry_price DROP NOT NULL;

ALTER TABLE trades ALTER COLUMN exit_price DROP NOT NULL;

ALTER TABLE trades ALTER COLUMN commission DROP NOT NULL;

ALTER TABLE trades ALTER COLUMN swap DROP NOT NULL;

ALTER TABLE trades ADD COLUMN quantity_unit VARCHAR(16);

CREATE TABLE trade_events (
    backtest_id UUID NOT NULL, 
    serial INTEGER NOT NULL, 
    trade_number INTEGER, 
    position_id VARCHAR(64), 
    order_id VARCHAR(64), 
    event VARCHAR(64) NOT NULL, 
    time TIMESTAMP WITH TIME ZONE NOT NULL, 
    direction VARCHAR(4), 
    volume NUMERIC(20, 4), 
    quantity NUMERIC(20, 4), 
    entry_price NUMERIC(20, 8), 
    close_price NUMERIC(20, 8), 
    stop_loss NUMERIC(20, 8), 
    take_profit NUMERIC(20, 8), 
    gross_profit NUMERIC(18, 2), 
    pips NUMERIC(20, 4), 
    balance NUMERIC(18, 2), 
    equity NUMERIC(18, 2), 
    CONSTRAINT pk_trade_events PRIMARY KEY (backtest_id, serial), 
    CONSTRAINT fk_trade_events_backtest_id_backtests FOREIGN KEY(backtest_id) REFERENCES backtests (id) ON DELETE CASCADE
);

CREATE INDEX ix_trade_events_backtest_id_trade_number ON trade_events (backtest_id, trade_number);

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';

-- Running upgrade 0005 -> 0006

ALTER TABLE backtests ALTER COLUMN commissions DROP NOT NULL;

ALTER TABLE backtests ALTER COLUMN swaps DROP NOT NULL;

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';

-- Running upgrade 0006 -> 0007

CREATE TABLE runs (
    id UUID NOT NULL, 
    name VARCHAR(255) NOT NULL, 
    kind VARCHAR(16) NOT NULL, 
    cbot VARCHAR(255), 
    symbol VARCHAR(64), 
    period VARCHAR(32), 
    testing_start TIMESTAMP WITH TIME ZONE, 
    testing_end TIMESTAMP WITH TIME ZONE, 
    source_key VARCHAR(64), 
    pass_count INTEGER DEFAULT '0' NOT NULL, 
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now() NOT NULL, 
    CONSTRAINT pk_runs PRIMARY KEY (id)
);

CREATE INDEX ix_runs_created_at ON runs (created_at);

CREATE INDEX ix_runs_source_key ON runs (source_key);

ALTER TABLE backtests ADD COLUMN run_id UUID;

ALTER TABLE backtests ADD COLUMN pass_number INTEGER;

ALTER TABLE backtests ADD CONSTRAINT fk_backtests_run_id_runs FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE SET NULL;

CREATE INDEX ix_backtests_run_id_pass_number ON backtests (run_id, pass_number);

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';

-- Running upgrade 0007 -> 0008

ALTER TABLE trades DROP CONSTRAINT fk_trades_backtest_id_backtests;

ALTER TABLE trade_events DROP CONSTRAINT fk_trade_events_backtest_id_backtests;

CREATE FUNCTION backtest_rows_have_backtests() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing uuid;
BEGIN
    PERFORM 1 FROM backtests
        WHERE id IN (SELECT DISTINCT backtest_id FROM new_rows) FOR KEY SHARE;
    SELECT n.backtest_id INTO missing FROM (SELECT DISTINCT backtest_id FROM new_rows) n
        WHERE NOT EXISTS (SELECT 1 FROM backtests b WHERE b.id = n.backtest_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('insert or update on table "%%s" violates foreign key: '
                             'backtest %%s does not exist', TG_TABLE_NAME, missing),
            TABLE = TG_TABLE_NAME, COLUMN = 'backtest_id';
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION backtests_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM trade_events WHERE backtest_id IN (SELECT id FROM old_backtests);
    DELETE FROM trades WHERE backtest_id IN (SELECT id FROM old_backtests);
    RETURN NULL;
END $$;

CREATE FUNCTION backtests_keep_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM trades WHERE backtest_id = OLD.id)
        OR EXISTS (SELECT 1 FROM trade_events WHERE backtest_id = OLD.id) THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('backtest %%s has trades: its id cannot change', OLD.id);
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER trades_insert_have_backtests AFTER INSERT ON trades REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backtest_rows_have_backtests();

CREATE TRIGGER trades_update_have_backtests AFTER UPDATE ON trades REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backtest_rows_have_backtests();

CREATE TRIGGER trade_events_insert_have_backtests AFTER INSERT ON trade_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backtest_rows_have_backtests();

CREATE TRIGGER trade_events_update_have_backtests AFTER UPDATE ON trade_events REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backtest_rows_have_backtests();

CREATE TRIGGER backtests_delete_rows AFTER DELETE ON backtests REFERENCING OLD TABLE AS old_backtests FOR EACH STATEMENT EXECUTE FUNCTION backtests_delete_rows();

CREATE TRIGGER backtests_keep_id BEFORE UPDATE OF id ON backtests FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION backtests_keep_id();

UPDATE alembic_version SET version_num='0008' WHERE alembic_version.version_num = '0007';

COMMIT;

