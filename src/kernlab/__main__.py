from kernlab.cli.main import main

main()
