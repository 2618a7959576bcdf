"""Background training for the app: the machinery around digitnet.train.

    slots.py     the fair queue: at most one training per CPU core, the rest wait in turn
    job.py       TrainingJob: one person's training, watched by a server thread
    protocol.py  the messages between a job and its worker process
    worker.py    one training in its own process (python -m digitnet.jobs.worker)
    shared.py    the training images in shared memory, mapped by every worker
    budget.py    what one training may take of a shared machine (step size, BLAS threads)

Why processes and not threads: a small network's step is a few dozen tiny NumPy
calls, during which Python holds its global lock; trainings in the server's own
process left its pages a fraction of one core, and drawings waited seconds for
their prediction. A worker has its own interpreter, runs at a lower CPU priority
than the server, and maps the shared MNIST arrays instead of copying them.

No Streamlit here: the tests drive jobs directly. Nothing is imported here, so that a
worker process loads only what it needs.
"""
