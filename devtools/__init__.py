"""The dafx-devhost package folder; a package only so its tests import as ``devtools.tests``."""
