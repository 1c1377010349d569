from app.page import function_page

function_page("styblinski_tang")
