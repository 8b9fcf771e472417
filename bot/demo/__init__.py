"""`tocsin demo`: bundled sample feeds served on loopback, an embedded SQLite file, the console."""
