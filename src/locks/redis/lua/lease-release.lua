-- ARGV: id
release(ARGV[1])
return 1
