"""The segment store: one immutable file per indexed source, shared by every version and every build.

Owns the file format (``file``: header, aligned arrays, digest footer), the store under
``BRIEFQA_INDEX/segments/<model>/`` (``store``: writing, verifying, reusing, pruning, and reading
the segments a manifest lists), how word pieces are coded (``codec``, with the shipped
``codebooks/``) and read a few rows at a time (``pieces``).
Never imports a backend or the build: both backends and the build read and write through it.
"""
