"""An app shaped the other common way: a plain FunctionApp with a durable Blueprint from a sibling module."""

import azure.functions as func
from workflows import bp

my_functions = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
my_functions.register_functions(bp)
