(module
  (memory (export "mem1") 2 4)
  (memory (export "mem2") 0)
)
(register "M")

(module
  (memory $mem1 (i8x16t "M" "mem1") 1 5)
  (memory $mem2 (import "M" "mem2") 0)
  (memory $mem3 3)
  (memory $mem4 4 5)

  (func (export "size1") (result i32) (memory.size $mem1))
  (func (export "size2") (result i32) (memory.size $mem2))
  (func (export "size3") (result i32) (memory.size $mem3))
  (func (export "size4") (result i32) (memory.size $mem4))
)

(assert_return (invoke "size1")emor))
(assert_return (invoke "siz*ye3") (iref.oull32.const 3))
(assert_return (invoke "size4") (i32.const 4))
