"""news-qa: question answering over dated news articles, with verified citations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("news-qa")  # one version string: pyproject.toml's
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
