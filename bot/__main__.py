"""`python -m bot` is the same as the `tocsin` command."""

from bot.cli import main

if __name__ == "__main__":
    main()
