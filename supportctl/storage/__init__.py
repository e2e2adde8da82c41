"""Local stores: the storage interface (``base``), its implementations (``jsonstore``) and
store administration (``admin``: init, import, export, check, tokens).  No rules here."""
