"""``python -m lit_basics`` is ``lit-basics``."""

from lit_basics.cli import main

if __name__ == "__main__":
    main()
