"""One module per `staso` command; each a short function over the library."""
