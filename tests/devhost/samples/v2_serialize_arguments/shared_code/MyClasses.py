class SerializableClass:
    """A value that crosses the Durable boundary through its own to_json / from_json."""

    def __init__(self, number: int):
        self.number = number

    def show_number(self) -> int:
        return self.number

    @staticmethod
    def to_json(obj: "SerializableClass") -> str:
        return str(obj.number)

    @staticmethod
    def from_json(text: str) -> "SerializableClass":
        return SerializableClass(int(text))
