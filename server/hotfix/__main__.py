from hotfix.startup.launcher import main

raise SystemExit(main())
