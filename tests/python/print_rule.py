# What CPython's print writes for the lines tests/python_lines.rs reads as a print
# step's template: arguments joined by one space, an f-string's braces doubled.
# Run: python3 tests/python/print_rule.py
# CPython 3.11 printed:
#   49 27 1024
#   apply returned 49
#   cube(3) = 27, power(2, 10) = 1024
#   [1, 8, 27]
#   {braces} {c} = 27
#   it's True None
#
#   [1, 8, 27] x
sq, c, p, cubes, ok, nothing = 49, 27, 1024, [1, 8, 27], True, None

print(sq, c, p)
print("apply returned", sq)
print(f"cube(3) = {c}, power(2, 10) = {p}")
print(cubes)
print("{braces}", f"{{c}} = {c}")
print('it\'s', ok, nothing)
print()
print(f"{cubes}", "x")
