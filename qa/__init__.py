"""news-qa: question answering over dated news articles, with verified citations."""

__version__ = "0.1.0"
