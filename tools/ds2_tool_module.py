"""Imports one of tools/' scripts as a module. They are commands without a .py suffix, so the
plain import statement cannot find them; tools that reuse another tool's functions (its
feature code, its converter) and the checks in test/ read them this way."""
import importlib.machinery
import importlib.util
import os

TOOLS = os.path.dirname(os.path.abspath(__file__))


def load_tool(name):
    """tools/NAME as a module named NAME with '-' made '_' (e.g. "make-corpus" -> make_corpus)."""
    module_name = name.replace("-", "_")
    loader = importlib.machinery.SourceFileLoader(module_name, os.path.join(TOOLS, name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
