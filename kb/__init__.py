"""kb: quick-reply scripts and FAQ knowledge base for Taobao/Tmall customer service."""

__version__ = "0.1.0"
