"""Where index versions live: the one ``IndexStore`` interface and the backends that implement it.

Owns ``interface`` (what every backend does alike: which version a build starts from, which loads
when the live one is damaged, how many are kept, the damage message, the build lock), ``choose``
(which backend a setting names) and one sub-package per backend, ``local/`` and ``qdrant/``, each
supplying only its storage. Never imports the build or the answers; a backend never imports
another backend's modules.
"""
