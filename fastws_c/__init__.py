"""Compiled twins of fastws's pure-Python kernels (see ``docs/DESIGN.md``).

Each module here (``mask``, ``accept``, ``http``, ``frames``, ``utf8``, ``close``)
has the same public names, signatures, results and exceptions as the module of
the same name in ``fastws``. Import ``fastws`` rather than this package:
``fastws`` picks the compiled twins when they are installed.
"""
