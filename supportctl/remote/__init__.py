"""Service implementations that talk to a server: ``http`` (the REST API of `supportctl
serve`) and ``rt`` (Request Tracker's REST2).  Each implements ``supportctl.api`` itself."""
