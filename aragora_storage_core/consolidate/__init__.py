"""Legacy SQLite files into the four consolidated databases, as ``layout.DATABASES`` says.

``plan`` reads the legacy files (read-only) and says what goes where; ``build`` makes one
consolidated file under a temporary name and moves it into place when complete;
``ledger`` remembers which target files consolidation made; ``checksum`` compares source
and target; ``run`` ties them together behind a verified backup.
"""

#: Legacy files attached at once by default (SQLite's own default limit).
DEFAULT_ATTACH_LIMIT = 10
