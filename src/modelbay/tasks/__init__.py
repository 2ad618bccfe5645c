"""One module per capability. Modules import only pydantic and modelbay.core at the top;
heavy libraries are imported inside ``setup``."""
