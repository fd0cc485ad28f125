-- expect: permission
-- why: os.setlocale is withheld: it is process-wide (would change other plugins' formatting) and a non-C collation locale reaches the 5.4.6 'read overflow in l_strcmp' bug
-- message: os.setlocale

os.setlocale("km_KH.UTF-8")
return "a" < "b"
