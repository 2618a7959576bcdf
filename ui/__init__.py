"""The Streamlit page of DigitNet, one concern per module; the computing is in digitnet/."""
