"""`python -m bot` is the same as the `tocsin` command."""

from bot.cli import main

main()
