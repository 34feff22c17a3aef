module github.com/rekwiz/rekwiz

go 1.26
