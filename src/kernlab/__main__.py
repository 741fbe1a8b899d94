from kernlab.cli.main import entry

entry()
