"""Click commands, one module per family; ``cli.py`` assembles them into one group.

Each command only parses options into a config, calls one library function and renders the
result. User mistakes arrive as ``UserError`` and leave as a one-line message with exit code 2.
"""
