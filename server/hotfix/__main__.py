from hotfix.launcher import main

raise SystemExit(main())
