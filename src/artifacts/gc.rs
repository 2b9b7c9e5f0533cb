//! `git exp gc`: removes local artifact store objects that no run points to.
