from backtestdb.cli import main

main()
