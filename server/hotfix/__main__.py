from hotfix.cli import main

raise SystemExit(main())
