"""Local emulators of the sources Headwater reads from (they import only ``headwater.core``)."""
