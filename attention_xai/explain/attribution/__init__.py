"""Attribution methods, one module per family. Importing this package imports every module
in its folder, and so registers every method: a new method is a new file with one
registered class. `ATTRIBUTIONS`' `order` fixes the order methods are listed in (CLI,
figures, tables); a method it does not name follows in alphabetical order of its module."""

import importlib
import pkgutil

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_module}")
