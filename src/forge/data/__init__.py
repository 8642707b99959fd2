"""data"""

from forge.data.memory import bound_reservations

# before any forge.data module imports pyarrow: see bound_reservations
bound_reservations()
