import sys

from attention_xai.cli import main

sys.exit(main())
