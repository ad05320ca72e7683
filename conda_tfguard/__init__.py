"""conda-tfguard: stop broken TensorFlow environments before conda links them."""

__version__ = "0.1.0"
