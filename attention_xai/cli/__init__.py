"""Command line: `python -m attention_xai <command>` (or `attention-xai <command>`).

    parser.py    every option once, the value types, build_parser
    commands.py  main and one function per command, each a call into attention_xai.pipeline
"""

from attention_xai.cli.commands import main
from attention_xai.cli.parser import EXIT_USER_ERROR, build_parser

__all__ = ["EXIT_USER_ERROR", "build_parser", "main"]
