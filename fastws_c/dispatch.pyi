from typing import Any

__all__ = ["ListenerReader"]

class ListenerReader:
    def __init__(self, conn: Any, listener: Any, view: memoryview) -> None: ...
    def __call__(self, nbytes: int) -> None: ...
