"""Make the loop-nest simulator (a test helper, not library code) importable by the tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
