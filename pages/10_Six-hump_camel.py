from app.page import function_page

function_page("six_hump_camel")
