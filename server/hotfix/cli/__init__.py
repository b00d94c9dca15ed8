"""The `hotfix` command line: parse, call a use case, print, exit code.

Nothing is imported here: the launcher imports :mod:`hotfix.cli.argv` before every command.
"""
