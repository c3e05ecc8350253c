"""The bank on disk: where it is (files), how YAML is read and written (yamlio), how books become
models with positions (load) and how they are written back (write)."""
