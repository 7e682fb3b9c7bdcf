from bench.collect.run import main

main()
