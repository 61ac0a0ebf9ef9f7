"""The checks in test/ import tools/' scripts with tools/ds2_tool_module.py's load_tool."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "tools"))
from ds2_tool_module import load_tool  # noqa: E402,F401
