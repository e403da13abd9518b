import sys


def _usage():
    print("usage: python -m fastprep demo")
    return 2


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "demo":
        from fastprep.demo import main

        sys.exit(main(sys.argv[2:]))
    sys.exit(_usage())
