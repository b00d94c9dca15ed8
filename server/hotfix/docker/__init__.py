"""Docker access: engines, containers, and the two file back ends (archive API, local /proc/<pid>/root)."""
