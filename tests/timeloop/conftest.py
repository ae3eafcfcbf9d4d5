"""Make the reference-case list (a test helper, not library code) importable."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
