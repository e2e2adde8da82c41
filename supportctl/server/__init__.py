"""The reference server of SPEC §7: the REST API over a json store, as a WSGI application."""
