"""staso_cli: the `staso` command (installed from the `cli/` folder under this unique name)."""
